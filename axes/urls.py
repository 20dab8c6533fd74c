from django.urls import path

from axes import views

app_name = "axes"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("strategies/<slug:slug>/", views.strategy_detail, name="strategy"),
    path("axes/<int:pk>/", views.axis_detail, name="axis"),
]
