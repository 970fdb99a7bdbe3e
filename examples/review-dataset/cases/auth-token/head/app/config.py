import os

SECRET = os.environ["TOKEN_SECRET"].encode()
