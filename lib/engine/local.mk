# lib/engine/: build lines for this folder.
