"""The admin pages that import contacts and events: upload, column mapping, progress, rejected rows.

"Add import" is the upload (app, kind, file; the format is the file's extension). A CSV file then
shows its columns with a select per column (guessed from the header) and its first rows; a JSON
Lines file, whose lines are already profiles or tracking payloads, starts at once. The job's page
shows a progress bar that polls a small JSON view each second, the counts, and the rejected rows
with their reasons (all of the kept ones as a CSV download). The work is a worker's
(services/imports/jobs.py); nothing here decides anything.
"""

from __future__ import annotations

import csv
from functools import partial
from pathlib import PurePath

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect, JsonResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from common.admin import AppFilter, BeaconModelAdmin, app_scope
from transfers.models import ImportJob
from transfers.selectors.imports import import_job_sample, import_job_status, import_rejections
from transfers.services.imports.fields import mapping_choices, mapping_guess
from transfers.services.imports.jobs import import_job_create, import_job_map, import_job_resume

# Bigger files go through `manage.py beacon_import`, which streams them without an upload.
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
REJECTIONS_SHOWN = 100
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


class ImportUploadForm(forms.Form):
    app = forms.ModelChoiceField(queryset=None)
    kind = forms.ChoiceField(choices=ImportJob.Kind.choices, initial=ImportJob.Kind.CONTACTS)
    file = forms.FileField(
        help_text="CSV with a header row (.csv), or JSON Lines (.jsonl): one profile or one "
        "tracking payload a line. UTF-8. At most 200 MB here; bigger files: "
        "manage.py beacon_import."
    )

    def __init__(self, *args, apps, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["app"].queryset = apps
        if apps.count() == 1:
            self.fields["app"].initial = apps.first()

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise ValidationError("the file is over 200 MB: import it with manage.py beacon_import")
        if PurePath(upload.name).suffix.lower() not in FORMATS:
            raise ValidationError("name the file .csv (CSV) or .jsonl (JSON Lines)")
        return upload


class MappingForm(forms.Form):
    """A select per CSV column, named by the column's position (a header may say anything)."""

    def __init__(self, *args, job: ImportJob, **kwargs):
        super().__init__(*args, **kwargs)
        guessed = job.mapping or mapping_guess(job.kind, job.columns)
        for index, column in enumerate(job.columns):
            self.fields[f"col{index}"] = forms.ChoiceField(
                label=column or f"(column {index + 1})",
                choices=mapping_choices(job.kind, column),
                initial=guessed.get(column, ""),
                required=False,
            )
        self.columns = job.columns

    def mapping(self) -> dict[str, str]:
        return {column: self.cleaned_data[f"col{i}"] for i, column in enumerate(self.columns)}

    def add_service_errors(self, exc: ValidationError) -> None:
        for key, reasons in exc.message_dict.items():
            index = self.columns.index(key) if key in self.columns else None
            self.add_error(f"col{index}" if index is not None else None, reasons)


@admin.register(ImportJob)
class ImportJobAdmin(BeaconModelAdmin):
    list_display = ["job", "app", "kind", "format", "status", "progress", "created_at"]
    list_filter = [AppFilter, "status", "kind"]
    list_select_related = ["app"]
    search_fields = ["file_name"]
    ordering = ["-created_at"]
    actions = ["resume"]

    def get_urls(self):
        def view(function):
            return self.admin_site.admin_view(partial(function, self))

        return [
            path("<path:object_id>/status/", view(status_view), name="transfers_importjob_status"),
            path(
                "<path:object_id>/rejections.csv",
                view(rejections_view),
                name="transfers_importjob_rejections",
            ),
            *super().get_urls(),
        ]

    def has_change_permission(self, request, obj=None):
        return False  # a job is made by its upload and its run, never edited

    @admin.display(description="import", ordering="pk")
    def job(self, job: ImportJob) -> str:
        return f"#{job.pk} {job.file_name}"

    @admin.display(description="progress")
    def progress(self, job: ImportJob) -> str:
        status = import_job_status(job=job)
        return format_html(
            "{}% · {} stored, {} rejected", status["percent"], job.rows_stored, job.rows_rejected
        )

    @admin.action(description="Resume the selected failed imports", permissions=["add"])
    def resume(self, request, queryset):
        resumed = sum(import_job_resume(job=job) for job in queryset)
        self.message_user(request, f"{resumed} import(s) resumed.", messages.SUCCESS)

    # The upload ------------------------------------------------------------------------------
    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        apps = app_scope().scoped(request)
        form = ImportUploadForm(request.POST or None, request.FILES or None, apps=apps)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            upload.seek(0)
            try:
                job = import_job_create(
                    app=form.cleaned_data["app"],
                    kind=form.cleaned_data["kind"],
                    format=FORMATS[PurePath(upload.name).suffix.lower()],
                    file=upload.file,
                    file_name=upload.name,
                    created_by=request.user,
                )
            except ValidationError as exc:
                form.add_error("file", exc.message_dict.get("file", exc.messages))
            else:
                url = reverse("admin:transfers_importjob_change", args=[job.pk])
                return HttpResponseRedirect(url)
        context = {**self._context(request, "Import contacts or events"), "form": form}
        return TemplateResponse(request, "admin/transfers/importjob/upload.html", context)

    # The mapping (CSV, before the start) and the job's page ---------------------------------
    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = _job(self, request, object_id)
        if job.status == ImportJob.Status.MAPPING:
            return self._mapping_view(request, job)
        rejections = list(job.rejections.order_by("row", "pk")[:REJECTIONS_SHOWN])
        context = {
            **self._context(request, str(job)),
            "job": job,
            "status": import_job_status(job=job),
            "rejections": rejections,
        }
        return TemplateResponse(request, "admin/transfers/importjob/job.html", context)

    def _mapping_view(self, request, job: ImportJob):
        form = MappingForm(request.POST or None, job=job)
        if request.method == "POST" and self.has_add_permission(request) and form.is_valid():
            try:
                import_job_map(job=job, mapping=form.mapping())
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                self.message_user(request, "Import started.", messages.SUCCESS)
                return HttpResponseRedirect(request.path)
        sample = import_job_sample(job=job)
        columns = [
            (form[f"col{i}"], [row[i] if i < len(row) else "" for row in sample])
            for i in range(len(job.columns))
        ]
        context = {
            **self._context(request, f"Map the columns of {job.file_name}"),
            "job": job,
            "form": form,
            "columns": columns,
        }
        return TemplateResponse(request, "admin/transfers/importjob/mapping.html", context)

    def _context(self, request, title: str) -> dict:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "has_view_permission": True,
        }


def _job(model_admin: ImportJobAdmin, request, object_id: str) -> ImportJob:
    job = model_admin.get_object(request, unquote(object_id))  # scoped to the user's apps
    if job is None or not model_admin.has_view_permission(request, job):
        raise Http404("No such import among yours.")
    return job


def status_view(model_admin: ImportJobAdmin, request, object_id: str) -> JsonResponse:
    return JsonResponse(import_job_status(job=_job(model_admin, request, object_id)))


class _Echo:
    def write(self, value: str) -> str:
        return value


def rejections_view(model_admin: ImportJobAdmin, request, object_id: str):
    job = _job(model_admin, request, object_id)
    writer = csv.writer(_Echo())
    lines = (writer.writerow([r.row, r.reason, r.raw]) for r in import_rejections(job=job))
    response = StreamingHttpResponse(
        _with_header(writer.writerow(["row", "reason", "raw"]), lines), content_type="text/csv"
    )
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-rejected.csv"'
    return response


def _with_header(header: str, lines):
    yield header
    yield from lines
