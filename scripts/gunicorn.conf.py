"""gunicorn settings for tongban: build the search index when a worker starts, not on the first
search a citizen makes."""


def post_worker_init(worker):
    from tongban.catalog.search import get_index

    get_index()
