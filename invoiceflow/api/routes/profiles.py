"""Supplier profiles, one tenant's: store, list, read and delete them. An upload names one
(``profile``), or is matched to one by its file name or supplier."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response

from invoiceflow.api.context import Svc, Tenant
from invoiceflow.api.errors import ApiError, not_found, responses
from invoiceflow.api.json_body import JsonRoute
from invoiceflow.api.models import ProfileIn, ProfileList, ProfileOut
from invoiceflow.pipeline import profiles
from invoiceflow.pipeline.profiles import StoredProfile

router = APIRouter(prefix="/v1/profiles", tags=["profiles"], route_class=JsonRoute)


def profile_out(p: StoredProfile) -> ProfileOut:
    return ProfileOut(
        name=p.name,
        profile=p.profile,
        match_supplier=p.match_supplier,
        match_file=p.match_file,
        created=datetime.fromtimestamp(p.created).astimezone(),
        updated=datetime.fromtimestamp(p.updated).astimezone(),
    )


@router.get("", response_model=ProfileList, responses=responses(401))
def list_profiles(svc: Svc, tenant: Tenant) -> ProfileList:
    """Your profiles by name: the order in which automatic matches are tried."""
    return ProfileList(profiles=[profile_out(p) for p in profiles.listing(svc.db, tenant)])


@router.put("/{name}", response_model=ProfileOut, responses=responses(400, 401, 422))
def put_profile(svc: Svc, tenant: Tenant, name: str, body: ProfileIn) -> ProfileOut:
    """Store a profile (replacing one of the same name); it is checked first, and refused
    with the reason when the readers could not use it."""
    try:
        stored = profiles.put(
            svc.db,
            tenant,
            name,
            body.profile,
            match_supplier=body.match_supplier,
            match_file=body.match_file,
        )
    except profiles.ProfileError as exc:
        raise ApiError(400, "InvalidProfile", str(exc)) from None
    return profile_out(stored)


@router.get("/{name}", response_model=ProfileOut, responses=responses(401, 404))
def get_profile(svc: Svc, tenant: Tenant, name: str) -> ProfileOut:
    with svc.db.transaction(write=False) as tx:
        found = profiles.get(tx, tenant, name)
    if found is None:
        raise not_found("profile")
    return profile_out(found)


@router.delete("/{name}", status_code=204, responses=responses(401, 404))
def delete_profile(svc: Svc, tenant: Tenant, name: str) -> Response:
    """Forget a profile; containers already read with it keep their copy."""
    if not profiles.delete(svc.db, tenant, name):
        raise not_found("profile")
    return Response(status_code=204)
