"""Placeholder blueprint for the query page area; routes land here."""

from flask import Blueprint

bp = Blueprint("query_page", __name__)
