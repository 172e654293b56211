fuzz:
