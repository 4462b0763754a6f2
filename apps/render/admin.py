from django.contrib import admin

from apps.render.models import RenderInput


@admin.register(RenderInput)
class RenderInputAdmin(admin.ModelAdmin):
    """The render input cache, read-only: entries expire on their own (RENDER_INPUT_CACHE_TTL_SEC)."""

    list_display = ("public_id", "owner", "video_size_bytes", "last_access_at", "expires_at")
    search_fields = ("public_id", "owner__email")
    raw_id_fields = ("owner",)
    list_select_related = ("owner",)
    readonly_fields = ("public_id", "owner", "video_sha256", "files", "video_size_bytes", "created_at",
                       "last_access_at", "expires_at")  # fmt: skip

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
