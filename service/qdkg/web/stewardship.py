"""Placeholder blueprint for the stewardship area; routes land here."""

from flask import Blueprint

bp = Blueprint("stewardship", __name__)
