"""The product's URLs, and the floor beside them under ``/floor/``. The product's own
routes stay, so the floor writes the same links (``reverse("measure-detail")``)."""

from django.urls import path

from bench import floor
from config.urls import handler400, handler403, handler404, handler500
from config.urls import urlpatterns as product

urlpatterns = [
    path("floor/measures/", floor.measure_list, name="floor-measure-list"),
    path("floor/measures/<slug:slug>/", floor.measure_detail, name="floor-measure-detail"),
    *product,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
