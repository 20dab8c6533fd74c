from django.urls import path

from actions.views import strategy as views

# The strategy pages moved here from axes/ (they read actions) but keep their URL names:
# templates and reverse() still say `axes:dashboard`, `axes:strategy`, `axes:axis`.
app_name = "axes"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("strategies/<slug:slug>/", views.strategy_detail, name="strategy"),
    path("axes/<int:pk>/", views.axis_detail, name="axis"),
]
