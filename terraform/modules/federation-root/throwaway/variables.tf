variable "key_in_state_acknowledged" {
  description = "Must be true: acknowledges that this root's private key is stored unencrypted in Terraform state and plan files, so this federation is a throwaway (demo, test)."
  type        = bool

  validation {
    condition     = var.key_in_state_acknowledged
    error_message = "This module stores the root key in Terraform state. For a real federation make the root offline with `bin/isthmus ca init-root` and use modules/federation-root; for a throwaway one set key_in_state_acknowledged = true."
  }
}

variable "common_name" {
  description = "Subject common name of the federation root CA."
  type        = string
  default     = "Isthmus throwaway federation root"
}

variable "organization" {
  description = "Subject organization of the federation root CA."
  type        = string
  default     = "Isthmus"
}

variable "validity_hours" {
  description = "Lifetime of the root certificate in hours."
  type        = number
  default     = 8760

  validation {
    condition     = var.validity_hours >= 24 * 30
    error_message = "validity_hours must be at least 720 (30 days); a root that short-lived defeats the hierarchy."
  }
}

variable "early_renewal_hours" {
  description = "How long before expiry a plan proposes a new certificate (so the rotation is planned, not discovered)."
  type        = number
  default     = 720
}
