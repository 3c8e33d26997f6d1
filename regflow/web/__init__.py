"""The back-office web page (`regflow web`): support, finance and operations, over the same code as the CLI."""

from regflow.web.app import create_app

__all__ = ["create_app"]
