"""Management commands of the demo app (``demo_data``, ``demo_accounts``)."""
