from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from apps.accounts.models import User


@admin.register(User)
class VibiUserAdmin(UserAdmin):
    list_display = ("username", "email", "display_name", "google_sub", "is_staff", "date_joined")
    search_fields = ("username", "email", "google_sub")
    fieldsets = (*(UserAdmin.fieldsets or ()), ("Google", {"fields": ("google_sub", "display_name", "picture")}))
