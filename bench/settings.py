"""The product's settings plus the floor's routes (``bench/urls.py``): used only by the
floor server of the benchmark and by its in-process query counts."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
