from django.urls import path

from apps.sessions_tokens import views

app_name = "accounts"

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("", views.profile, name="profile"),
    path("delete/", views.account_erase, name="erase"),
    path("keys/", views.api_key_create, name="api_key_create"),
    path("keys/<uuid:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("forget/", views.guest_forget, name="forget"),
]
