# bin/: build lines for this folder.
