from django.urls import path

from actions import views

app_name = "actions"
urlpatterns = [
    path("", views.action_list, name="list"),
    path("export.csv", views.export_csv, name="export_csv"),
    path("export.xlsx", views.export_xlsx, name="export_xlsx"),
    path("<int:pk>/", views.action_detail, name="detail"),
    path("<int:pk>/avancement/", views.action_update_status, name="update_status"),
    path("<int:pk>/modifier/", views.action_edit, name="edit"),
    path("<int:pk>/historique/", views.action_history, name="history"),
]
