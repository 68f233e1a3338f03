"""The práctica's lab programs ("Práctica 3: Cliente-servidor UDP"), in Python 3.

Each program is one file that runs as a script (``python servidor_eco_v1.py``) or as a module
(``python -m udpeco.practica3.servidor_eco_v1``). Its socket logic runs on the stdlib or on
udpeco's drop-in ``socket``/``select``, chosen by ``UDPECO_BACKEND`` (see :mod:`.backend`).
"""
