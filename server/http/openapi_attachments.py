"""The OpenAPI paths of scanned materials (server/http/attachments.py): the agents' resumable upload and the
dashboard's reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from protocol import API_PREFIX
from protocol.materials import CHUNK_TYPE, LENGTH_HEADER, OFFSET_HEADER, AttachmentOffer, UploadState

TYPES = [AttachmentOffer, UploadState]
_AGENT: list[dict[str, list[str]]] = [{"agentToken": []}]
_READER: list[dict[str, list[str]]] = [{"dashboardSession": []}, {"adminToken": []}]


def attachment_paths(ok: dict[str, Any], errors: Callable[..., dict[str, Any]],
                     json: Callable[[type], dict[str, Any]]) -> dict[str, Any]:
    sha = {"name": "sha256", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}
    offset = {OFFSET_HEADER: {"schema": {"type": "integer"}, "description": "bytes the county holds"},
              LENGTH_HEADER: {"schema": {"type": "integer"}, "description": "the file's size"}}
    return {
        f"{API_PREFIX}/attachments": {"post": {
            "summary": "Offer a file attached to a case of the agent's township (idempotent by attachment_id); the "
                       "answer says how many bytes the county holds, or that it holds the file whole",
            "security": _AGENT, "requestBody": {"required": True, "content": json(AttachmentOffer)},
            "responses": {"200": {**ok, "content": json(UploadState)},
                          **errors("bad_json", "bad_request", "unauthorized", "agent_revoked", "wrong_township",
                                   "attachment_case_unknown", "attachment_too_large", "attachment_type",
                                   "attachment_quota")}}},
        API_PREFIX + "/uploads/{sha256}": {
            "head": {"summary": "The bytes of the upload the county holds", "security": _AGENT, "parameters": [sha],
                     "responses": {"200": {"description": "OK", "headers": offset},
                                   **errors("unauthorized", "upload_unknown")}},
            "patch": {
                "summary": "A chunk at Upload-Offset; what arrives is kept even when the request is cut. The chunk "
                           "with the last byte is answered once the file's sha256 and type are checked",
                "security": _AGENT,
                "parameters": [sha, {"name": OFFSET_HEADER, "in": "header", "required": True,
                                     "schema": {"type": "integer", "minimum": 0}}],
                "requestBody": {"required": True, "content": {CHUNK_TYPE: {"schema": {"type": "string",
                                                                                      "format": "binary"}}}},
                "responses": {"204": {"description": "Stored; more to send", "headers": offset},
                              "200": {**ok, "content": json(UploadState)},
                              **errors("chunk_type_required", "unauthorized", "upload_unknown",
                                       "upload_offset_mismatch", "attachment_hash_mismatch", "attachment_type",
                                       "body_timeout")}}},
        API_PREFIX + "/cases/{case_id}/attachments": {"get": {
            "summary": "A case's scanned materials, for the dashboard", "security": _READER,
            "parameters": [{"name": "case_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {**ok, "content": {"application/json": {"schema": {"type": "object"}}}},
                          **errors("login_required", "not_found")}}},
        API_PREFIX + "/attachments/{attachment_id}/file": {"get": {
            "summary": "One file: images inline, the rest as a download; nosniff and a policy that runs nothing",
            "security": _READER,
            "parameters": [{"name": "attachment_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {**ok, "content": {"application/octet-stream": {"schema": {"type": "string",
                                                                                          "format": "binary"}}}},
                          **errors("login_required", "not_found")}}},
    }
