CREATE TABLE `payment_events` (
	`id` text PRIMARY KEY NOT NULL,
	`provider` text NOT NULL,
	`type` text NOT NULL,
	`payment_id` text,
	`delivery` text NOT NULL,
	`received_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `payments` (
	`id` text PRIMARY KEY NOT NULL,
	`merchant_id` text NOT NULL,
	`code_id` text NOT NULL,
	`code_version` integer NOT NULL,
	`amount` integer NOT NULL,
	`currency` text NOT NULL,
	`description` text NOT NULL,
	`status` text NOT NULL,
	`provider` text NOT NULL,
	`session_id` text,
	`session_expires_at` integer,
	`receipt_id` text NOT NULL,
	`customer_email` text,
	`method_brand` text,
	`method_last4` text,
	`failure_reason` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`paid_at` integer,
	FOREIGN KEY (`merchant_id`) REFERENCES `merchants`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`code_id`) REFERENCES `codes`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `payments_receipt_idx` ON `payments` (`receipt_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `payments_session_idx` ON `payments` (`session_id`);--> statement-breakpoint
CREATE INDEX `payments_merchant_created_idx` ON `payments` (`merchant_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `payments_code_status_idx` ON `payments` (`code_id`,`status`);--> statement-breakpoint
ALTER TABLE `codes` ADD `max_payments` integer;