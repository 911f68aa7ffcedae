# lib/http/: build lines for this folder.
