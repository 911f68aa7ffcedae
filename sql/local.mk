# sql/: build lines for this folder.
