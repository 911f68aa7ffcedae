# lib/store/: build lines for this folder.
