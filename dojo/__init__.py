"""The training centre: storage, accounts, practice runs, skill progress, calibration, and the `dojo` CLI on top.

Layers, imports flowing one way only (tests/test_layout.py keeps it so):
simulator (the conversation) -> scoring (the judge) -> dojo (this package) -> app.py + ui/ (the web)
-> dojo.cli (the commands, the top of the house).
"""
