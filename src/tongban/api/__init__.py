"""REST API under ``/api/v1/`` (django-ninja, OpenAPI 3.1): a thin layer over services/selectors."""
