"""Ops design posters under /admin/posters: templates (background, where each element
goes) with a live preview re-rendered as fields change, and the shop's name and logo."""

from __future__ import annotations

import base64
import io

from flask import abort, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response
from wtforms import FormField

from portal import confirm, uploads
from portal.accounts.access import staff_blueprint
from portal.extensions import db
from portal.forms import Form, attach_error
from portal.links import poster_services as service
from portal.links import posters
from portal.links.models import PosterKind, PosterTemplate
from portal.links.poster_forms import KIND_LABELS, BrandForm, initial, template_form
from portal.rendering import render

admin = staff_blueprint("admin_posters", __name__)
PREVIEW_WIDTH = 540  # the preview is drawn at full size and shown at half


def _upload(value: object) -> FileStorage | None:
    return value if isinstance(value, FileStorage) and value.filename else None


def _template(template_id: int) -> PosterTemplate:
    return db.session.get(PosterTemplate, template_id) or abort(404)


def _kind(value: str | None) -> PosterKind:
    try:
        return PosterKind(value or PosterKind.PRODUCT.value)
    except ValueError:
        abort(404)


@admin.get("/posters")
def index() -> Response:
    brand = service.brand()
    form = BrandForm(data={"shop_name": brand.name})
    return render(
        "admin/posters.html",
        "admin/posters.html",
        templates=service.all_templates(),
        kinds=KIND_LABELS,
        brand=brand,
        brand_form=form,
    )


@admin.post("/posters/brand")
def save_brand() -> Response:
    form = BrandForm()
    if form.validate_on_submit():
        try:
            changed = service.save_brand(
                form.shop_name.data or "",
                (upload.stream if (upload := _upload(form.logo.data)) else None),
                bool(form.remove_logo.data),
                current_user,
            )
        except service.PosterError as exc:
            db.session.rollback()
            attach_error(form, exc, "logo")
        else:
            db.session.commit()
            flash(_("Shop name and logo saved.") if changed else _("Nothing changed."), "success")
            return redirect(url_for(".index"))
    return render(
        "admin/posters.html",
        "admin/posters.html",
        http_status=422,
        templates=service.all_templates(),
        kinds=KIND_LABELS,
        brand=service.brand(),
        brand_form=form,
    )


@admin.get("/posters/logo")
def logo() -> Response:
    name = service.brand().logo_file or abort(404)
    response = send_file(uploads.path(name), conditional=True, max_age=3600)
    response.cache_control.private = True
    return response


def _edit(template: PosterTemplate | None, kind: PosterKind) -> Response:
    form_class = template_form(kind)
    form = form_class(data=initial(kind, template))
    if form.validate_on_submit():
        data = service.TemplateData(form.name.data or "", kind, form.active.data, form.layout())
        upload = _upload(form.background.data)
        try:
            saved = service.save_template(
                template, data, upload.stream if upload else None, current_user
            )
        except service.PosterError as exc:
            db.session.rollback()
            attach_error(form, exc)
        else:
            db.session.commit()
            flash(_("Poster template saved."), "success")
            return redirect(url_for(".edit", template_id=saved.id))
    return render(
        "admin/poster_edit.html",
        "admin/poster_edit.html",
        http_status=422 if form.errors else 200,
        form=form,
        template=template,
        kind=kind,
        kind_label=KIND_LABELS[kind],
        image=None,
        errors=(),
    )


@admin.route("/posters/new", methods=["GET", "POST"])
def new() -> Response:
    return _edit(None, _kind(request.args.get("kind")))


@admin.route("/posters/<int:template_id>", methods=["GET", "POST"])
def edit(template_id: int) -> Response:
    template = _template(template_id)
    return _edit(template, template.kind)


@admin.post("/posters/<int:template_id>/delete")
def delete(template_id: int) -> Response:
    template = _template(template_id)
    if not confirm.confirmed():
        return confirm.ask(
            confirm.Confirmation(
                question=_("Delete the poster template “%(name)s”?", name=template.name),
                button=_("Delete the template"),
                back=url_for(".edit", template_id=template.id),
                consequences=(_("Distributors no longer get posters made from it."),),
            )
        )
    service.delete_template(template, current_user)
    db.session.commit()
    flash(_("Poster template deleted."), "success")
    return redirect(url_for(".index"))


def _data_url(png: bytes) -> str:
    """The poster at preview size as a data: URL (the page's policy allows data: images)."""
    with Image.open(io.BytesIO(png)) as image:
        small = image.convert("RGB")
        small.thumbnail((PREVIEW_WIDTH, PREVIEW_WIDTH * 4))
        out = io.BytesIO()
        small.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


@admin.post("/posters/preview")
def preview() -> Response:
    """The form's current values drawn (htmx posts the form as its fields change): the
    uploaded background if one was chosen, else the saved one, else a white canvas.
    Field errors show beside the picture; nothing is saved."""
    template_id = request.args.get("template", type=int)
    template = _template(template_id) if template_id else None
    kind = template.kind if template else _kind(request.args.get("kind"))
    form = template_form(kind)()
    image = None
    form.validate_on_submit()
    errors = _labelled(form, skip={"name"})  # a name is not needed to see the picture
    if not errors:
        try:
            chosen = _upload(form.background.data)
            upload = service.checked_background(chosen.stream if chosen else None)
            design = service.design(template, kind)
            if upload is not None:
                background = Image.open(io.BytesIO(upload[0]))
                design = posters.Design("preview", kind, upload[1], design.layout, background)
            design = posters.Design("preview", kind, design.size, form.layout(), design.background)
            service.check_layout(kind, design.layout, design.size)
            image = _data_url(service.draw(design, service.sample_texts(kind)))
        except service.PosterError as exc:
            errors.append(exc.message)
    return render(
        "admin/poster_preview.html",
        "admin/_poster_preview.html",
        image=image,
        errors=errors,
        kind=kind,
        template=template,
    )


def _labelled(form: Form, skip: set[str]) -> list[str]:
    """The form's errors, each after the label of its field (a sub-form's with the
    element's name too), for the preview's one alert."""
    found = []
    for name, field in form._fields.items():
        if name in skip:
            continue
        subfields = list(field) if isinstance(field, FormField) else [field]
        for sub in subfields:
            label = sub.label.text if sub is field else f"{field.label.text} · {sub.label.text}"
            found += [f"{label}: {error}" for error in sub.errors if isinstance(error, str)]
    return found
