"""Errors of the invoices context (stable codes)."""

from __future__ import annotations

from forecourt.errors import AppError


class InvoiceNotFound(AppError):
    status = 404
    code = "invoice_not_found"
    default_message = "No such invoice request."


class SaleNotInvoiceable(AppError):
    status = 400
    code = "sale_not_invoiceable"
    default_message = "A sale cannot be invoiced: it is not your completed fuel purchase."


class SaleAlreadyInvoiced(AppError):
    status = 409
    code = "sale_already_invoiced"
    default_message = "A sale is already covered by an invoice request."


class InvoiceStatusConflict(AppError):
    status = 409
    code = "invoice_status_conflict"
    default_message = "The invoice request is not in a state that allows this."


class PlatformNotConfigured(AppError):
    status = 503
    code = "invoice_platform_not_configured"
    default_message = "No tax platform is configured: fapiao cannot be issued."
