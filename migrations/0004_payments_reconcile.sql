ALTER TABLE `payments` ADD `hold_checked_at` integer;--> statement-breakpoint
ALTER TABLE `payments` ADD `hold_kept_at` integer;--> statement-breakpoint
CREATE INDEX `payments_status_expiry_idx` ON `payments` (`status`,`session_expires_at`);