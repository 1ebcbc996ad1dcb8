"""LOSO training and evaluation (``python main.py train`` / ``python main.py evaluate``)."""
