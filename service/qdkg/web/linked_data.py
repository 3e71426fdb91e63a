"""Placeholder blueprint for the linked data area; routes land here."""

from flask import Blueprint

bp = Blueprint("linked_data", __name__)
