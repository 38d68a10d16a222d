"""Glasswing's sample data and models; ``build.py`` rebuilds them, ``digits_cnn.py`` holds the CNN."""
