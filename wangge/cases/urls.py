from django.urls import path

from wangge.cases import views

app_name = "cases"
urlpatterns = [
    path("", views.case_list, name="list"),
    path("total/", views.case_list_total, name="total"),
    path("todo/", views.todo, name="todo"),
    path("report/", views.patrol_report, name="report"),
    path("<int:pk>/", views.case_detail, name="detail"),
    path("<int:pk>/act/<str:action>/", views.case_act, name="act"),
    path("photos/<int:pk>/<str:size>/", views.photo, name="photo"),
]
