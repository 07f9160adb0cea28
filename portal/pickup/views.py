"""Pickup points: the leader's point and pick list (``/me/pickup``), the ops review queue
(``/admin/pickup-points``) and what the companion plugin asks at checkout
(``/pickup/<code>.json``)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.accounts.access import distributor_blueprint, staff_blueprint
from portal.distributors.current import current_distributor
from portal.errors import ServiceError
from portal.extensions import db
from portal.forms import Form, attach_error, error_text
from portal.pagination import paginate
from portal.pickup import rounds, services
from portal.pickup.forms import LeaderRoundForm, PickFilterForm, PointForm, ReviewForm, RoundForm
from portal.pickup.labels import POINT_STATUS_LABELS, ROUND_STATE_LABELS
from portal.rendering import decision_answer, is_htmx, render
from portal.timeutil import utcnow

public = Blueprint("pickup", __name__)
me = distributor_blueprint("me_pickup", __name__)
admin = staff_blueprint("admin_pickup", __name__)


@public.get("/pickup/<code>.json")
def offered(code: str) -> tuple[Response, int] | Response:
    """The leader's approved pickup point, for the shop's checkout (public: it is what
    the buyer is shown anyway)."""
    point = services.offered(code)
    if point is None:
        return jsonify(error="no approved pickup point"), 404
    response = jsonify(id=point.id, name=point.name, address=point.address, hours=point.hours)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


# --- the leader ----------------------------------------------------------------------


def _centre(
    point_form: PointForm | None = None,
    status: int = 200,
    round_form: LeaderRoundForm | None = None,
) -> Response:
    distributor = current_distributor()
    point = services.point_of(distributor.id)
    filters = PickFilterForm(request.args)
    day = filters.day.data if filters.validate() else None
    chosen = (
        rounds.get_for_leader(filters.round.data, distributor.id) if filters.round.data else None
    )
    page = (
        paginate(
            services.pick_list(
                point, day, bool(filters.waiting.data), rounds.in_round(chosen) if chosen else ()
            )
        )
        if point is not None
        else None
    )
    if point_form is None:
        point_form = PointForm(obj=point) if point is not None else PointForm(formdata=None)
    return render(
        "me/pickup.html",
        "me/_pick_list.html",
        http_status=status,
        allowed=services.may_have_point(distributor),
        point=point,
        point_form=point_form,
        filters=filters,
        page=page,
        rows=services.rows(page.items if page else []),
        status_labels=POINT_STATUS_LABELS,
        action_form=Form(),
        rounds=rounds.for_leader(distributor.id) if services.may_have_point(distributor) else [],
        round_form=(round_form or LeaderRoundForm(formdata=None))
        if point is not None and rounds.leaders_may_open()
        else None,
        round_state=rounds.state,
        round_labels=ROUND_STATE_LABELS,
    )


@me.post("/pickup/rounds")
def open_own_round() -> Response:
    """A leader with an approved point opens a round for their own group (setting)."""
    distributor = current_distributor()
    point = services.point_of(distributor.id)
    if not rounds.leaders_may_open() or point is None or not services.may_have_point(distributor):
        abort(404)
    form = LeaderRoundForm()
    if _opened(form, utcnow(), distributor.code):
        flash(_("Your round is open: copy its message into your group."), "success")
        return redirect(url_for("me_pickup.centre") + "#rounds-title")
    return _centre(status=400, round_form=form)


def _opened(form: LeaderRoundForm, opens_at: datetime, leader_code: str | None) -> bool:
    """Open the round the form describes (committed), or put the refusal on the form."""
    if not form.validate():
        return False
    try:
        rounds.open_round(
            form.title.data or "",
            (form.product_ids.data or "").split(","),
            opens_at,
            form.closes_at.data.replace(tzinfo=UTC),
            leader_code,
            current_user,
        )
    except rounds.RoundError as exc:
        db.session.rollback()
        attach_error(form, exc)
        return False
    db.session.commit()
    return True


@me.get("/pickup/rounds/<int:round_id>")
def round_detail(round_id: int) -> Response:
    """A round for the leader: the group message to copy, and what their group bought
    (to order from the shop once it closes)."""
    distributor = current_distributor()
    found = rounds.get_for_leader(round_id, distributor.id)
    if found is None or not services.may_have_point(distributor):
        abort(404)
    return render(
        "me/round.html",
        "me/round.html",
        found=found,
        state=rounds.state(found),
        round_labels=ROUND_STATE_LABELS,
        message=rounds.message(found, distributor, services.point_of(distributor.id)),
        totals=rounds.totals(found, distributor.id),
    )


@me.get("/pickup")
def centre() -> Response:
    return _centre()


@me.post("/pickup/point")
def save_point() -> Response:
    form = PointForm()
    if form.validate():
        try:
            services.save(
                current_distributor(),
                form.name.data or "",
                form.address.data or "",
                form.hours.data or "",
                current_user,
            )
        except services.PickupError as exc:
            db.session.rollback()
            attach_error(form, exc)
        else:
            db.session.commit()
            flash(
                _("Thank you: the shop reviews your pickup point before buyers see it."), "success"
            )
            return redirect(url_for("me_pickup.centre"))
    return _centre(form, 400)


def _own_point() -> services.PickupPoint:
    point = services.point_of(current_distributor().id)
    if point is None:
        abort(404)
    return point


@me.post("/pickup/orders/<int:order_id>/handed-over")
def hand_over(order_id: int) -> Response:
    point = _own_point()
    if not Form().validate():
        abort(400)
    try:
        services.hand_over(point, order_id, current_user)
    except services.NotAtPoint:
        abort(404)
    except services.PickupError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
    return _after_mark(point, order_id)


@me.post("/pickup/orders/<int:order_id>/undo")
def undo(order_id: int) -> Response:
    point = _own_point()
    if not Form().validate():
        abort(400)
    try:
        services.undo(point, order_id)
    except services.NotAtPoint:
        abort(404)
    db.session.commit()
    return _after_mark(point, order_id)


def _after_mark(point: services.PickupPoint, order_id: int) -> Response:
    """The order's row again for htmx; the pick list otherwise."""
    if is_htmx():
        row = services.row(point, order_id)
        return render("me/pickup.html", "me/_pick_row.html", row=row, action_form=Form())
    return redirect(url_for("me_pickup.centre", **request.args))


# --- ops -----------------------------------------------------------------------------


def _rounds_page(form: RoundForm | None = None, status: int = 200) -> Response:
    return render(
        "admin/rounds.html",
        "admin/rounds.html",
        http_status=status,
        page=paginate(rounds.all_rounds()),
        form=form or RoundForm(formdata=None),
        round_state=rounds.state,
        round_labels=ROUND_STATE_LABELS,
    )


@admin.get("/rounds")
def rounds_index() -> Response:
    return _rounds_page()


@admin.post("/rounds")
def open_round() -> Response:
    form = RoundForm()
    opens_at = form.opens_at.data.replace(tzinfo=UTC) if form.opens_at.data else utcnow()
    if _opened(form, opens_at, form.leader_code.data or None):
        flash(_("The round is open to leaders from its start."), "success")
        return redirect(url_for("admin_pickup.rounds_index"))
    return _rounds_page(form, 400)


@admin.get("/pickup-points")
def queue() -> Response:
    return render(
        "admin/pickup_points.html",
        "admin/_pickup_queue.html",
        page=paginate(services.waiting()),
        form=ReviewForm(formdata=None),
    )


@admin.post("/pickup-points/<int:point_id>/review")
def decide(point_id: int) -> Response:
    form = ReviewForm()
    approve = request.form.get("decision") == "approve"
    error: ServiceError | str | None = None
    if not form.validate():
        error = error_text(form)
    else:
        try:
            services.review(point_id, current_user, approve, form.note.data)
        except ServiceError as exc:
            db.session.rollback()
            error = exc
        else:
            db.session.commit()
    return decision_answer(
        error,
        None,
        url_for("admin_pickup.queue"),
        _("Approved: the shop offers this point now.")
        if approve
        else _("Rejected: the leader sees your note."),
    )
