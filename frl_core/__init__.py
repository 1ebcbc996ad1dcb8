"""FRL-DGT micro-expression spotting and recognition: the Qt-free computational core.

Everything that computes lives here (faces, AU regions, spotting, the network, datasets, training,
the streaming engine, the headless CLI) so that tests, the CLI and the GUI share one implementation.
"""

__version__ = "0.1.0"
