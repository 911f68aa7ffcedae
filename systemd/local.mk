# systemd/: build lines for this folder.
