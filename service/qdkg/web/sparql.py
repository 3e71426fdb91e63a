"""Placeholder blueprint for the sparql area; routes land here."""

from flask import Blueprint

bp = Blueprint("sparql", __name__)
