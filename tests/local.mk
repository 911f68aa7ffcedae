# tests/: build lines for this folder.
