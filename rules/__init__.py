"""The shipped policies and their tests, installed as package data: `fenliu examples` copies them."""
