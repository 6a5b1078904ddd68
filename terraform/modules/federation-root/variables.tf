variable "common_name" {
  description = "Subject common name of the federation root CA."
  type        = string
  default     = "Isthmus federation root"
}

variable "organization" {
  description = "Subject organization of the federation root CA."
  type        = string
  default     = "Isthmus"
}

variable "validity_hours" {
  description = "Lifetime of the root certificate in hours (default ten years). Rotate well before it ends: publish the new root next to the old one in every gateway's root-certificates."
  type        = number
  default     = 87600

  validation {
    condition     = var.validity_hours >= 24 * 30
    error_message = "validity_hours must be at least 720 (30 days); a root that short-lived defeats the hierarchy."
  }
}
