"""The public site for readers: server-rendered pages of the record, with Atom feeds."""

from django.urls import path

from reader import feeds, views

app_name = "reader"

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("strategies/<slug:slug>/", views.strategy_detail, name="strategy"),
    path("strategies/<slug:slug>/changes/", views.strategy_changes, name="strategy-changes"),
    path("strategies/<slug:slug>/feed.atom", feeds.StrategyChangesFeed(), name="strategy-feed"),
    path("measures/<slug:slug>/", views.measure_detail, name="measure"),
    path("measures/<slug:slug>/feed.atom", feeds.MeasureChangesFeed(), name="measure-feed"),
]
