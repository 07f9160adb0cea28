"""Ops manage the library under /admin/materials; distributors browse, copy and download
it under /me/materials, every text filled with their own links and codes."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from flask import Response, abort, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import FileStorage
from wtforms import SelectChoice

from portal import onboarding, uploads
from portal.accounts.access import distributor_blueprint, staff_blueprint
from portal.distributors.current import current_distributor
from portal.extensions import db
from portal.forms import attach_error
from portal.links import services as links
from portal.markdown import render_markdown
from portal.materials import services
from portal.materials.forms import KIND_LABELS, FilterForm, MaterialForm, as_utc
from portal.materials.models import Material, MaterialKind
from portal.materials.placeholders import Filler
from portal.pagination import paginate
from portal.rendering import render

admin = staff_blueprint("admin_materials", __name__)
me = distributor_blueprint("me_materials", __name__)

# Images never change under a name (a new upload gets a new random name), so browsers may
# keep them; "private": they are served to signed-in users only.
IMAGE_MAX_AGE = 7 * 24 * 3600


@admin.context_processor
@me.context_processor
def labels() -> dict[str, Any]:
    return {"material_kinds": KIND_LABELS, "kinds": MaterialKind}


# --- ops ---------------------------------------------------------------------------------


@admin.get("/materials")
def admin_list() -> Response:
    return render(
        "admin/materials.html",
        "admin/_material_table.html",
        page=paginate(services.admin_query()),
    )


def _edit(material: Material | None) -> Response:
    form = MaterialForm(obj=material)
    if material is not None and request.method == "GET":
        form.kind.data = material.kind.value
        form.products.data = ", ".join(p.product_id for p in material.products)
        for field in (form.publish_from, form.publish_until):
            if field.data is not None:
                field.data = field.data.astimezone(UTC).replace(tzinfo=None)
    if form.validate_on_submit():
        upload = form.image.data if isinstance(form.image.data, FileStorage) else None
        if upload is not None and not upload.filename:
            upload = None
        kind = MaterialKind(form.kind.data)
        if kind is MaterialKind.IMAGE and upload is None and not (material and material.image_file):
            form.image.errors.append(_("An image item needs an image."))
        else:
            data = services.MaterialData(
                kind=kind,
                title=form.title.data or "",
                body=form.body.data or "",
                category=form.category.data or "",
                tags=form.tags.data or "",
                product_ids=form.product_ids(),
                publish_from=as_utc(form.publish_from.data),
                publish_until=as_utc(form.publish_until.data),
                pinned=form.pinned.data,
            )
            try:
                services.save(material, data, upload.stream if upload else None, current_user)
            except uploads.UploadError as exc:
                attach_error(form, exc, "image")
            else:
                flash(_("Material saved."), "success")
                return redirect(url_for(".admin_list"))
    status = 422 if form.errors else 200
    return render(
        "admin/material_edit.html",
        "admin/_material_form.html",
        http_status=status,
        form=form,
        material=material,
    )


@admin.route("/materials/new", methods=["GET", "POST"])
def admin_new() -> Response:
    return _edit(None)


@admin.route("/materials/<int:material_id>", methods=["GET", "POST"])
def admin_edit(material_id: int) -> Response:
    material = db.session.get(Material, material_id)
    if material is None:
        abort(404)
    return _edit(material)


@admin.get("/materials/<int:material_id>/image")
def admin_image(material_id: int) -> Response:
    material = db.session.get(Material, material_id)
    if material is None or not material.image_file:
        abort(404)
    return _image(material)


# --- distributors ------------------------------------------------------------------------


def _filter(form: FilterForm) -> services.Filter:
    kind = form.kind.data if form.kind.data in set(MaterialKind) else None
    product = form.product.data
    return services.Filter(
        search=form.q.data or "",
        kind=MaterialKind(kind) if kind else None,
        category=form.category.data or "",
        product_id=int(product) if product and product.isdigit() else None,
        new=bool(form.new.data),
    )


@me.get("/materials")
def library() -> Response:
    distributor = current_distributor()
    form = FilterForm(request.args)
    form.category.choices = [SelectChoice("", _("All categories"))] + [
        SelectChoice(c, c) for c in services.categories()
    ]
    form.product.choices = [SelectChoice("", _("All products"))] + [
        SelectChoice(str(p.id), p.name or p.product_id) for p in services.products_with_materials()
    ]
    form.validate()
    chosen = _filter(form) if not form.errors else services.Filter()
    onboarding.record(distributor.id, onboarding.Step.MATERIALS)
    db.session.commit()
    filler = Filler(distributor)
    return render(
        "me/materials.html",
        "me/_material_results.html",
        form=form,
        page=paginate(services.library_query(chosen)),
        fill=filler.fill,
        markdown=render_markdown,
        args={k: v for k, v in request.args.items() if k != "page"},
    )


def _published(material_id: int) -> Material:
    material = services.visible(material_id)
    if material is None:
        abort(404)
    return material


@me.post("/materials/<int:material_id>/copied")
def copied(material_id: int) -> Response:
    """Counted when the copy button is pressed: the text is already on the page, the
    copy itself happens in the browser; this only records that it did."""
    services.count(_published(material_id).id, "copy")
    return Response(status=204)


def _image(material: Material) -> Response:
    response = send_file(
        uploads.path(material.image_file or ""),
        mimetype=material.image_type,
        conditional=True,
        max_age=IMAGE_MAX_AGE,
    )
    response.cache_control.private = True
    response.cache_control.public = False
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@me.get("/materials/<int:material_id>/image")
def image(material_id: int) -> Response:
    material = _published(material_id)
    if not material.image_file:
        abort(404)
    return _image(material)


@me.get("/materials/<int:material_id>/download")
def download(material_id: int) -> Response:
    """The image as an attachment, with ``?qr=1`` the distributor's QR code stamped in a
    corner (made per request: it differs per distributor). Counted as a download."""
    material = _published(material_id)
    if not material.image_file:
        abort(404)
    services.count(material.id, "download")
    distributor = current_distributor()
    onboarding.record(distributor.id, onboarding.Step.SAVE_POSTER)
    db.session.commit()
    if request.args.get("qr") != "1":
        response = _image(material)
        name = f"material-{material.id}.{material.image_file.rsplit('.', 1)[-1]}"
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    png = services.stamped(material, links.short_url(links.link_code(distributor)))
    response = Response(png, mimetype="image/png")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="material-{material.id}-qr.png"'
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
