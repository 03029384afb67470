"""cart_lib: claims ledgers, reconstructed patient records and their statistics.

The library is generic over studies: everything it knows about a particular
study comes from that study's ledger file under ``data/claims/``.
"""

__version__ = "0.1.0"
