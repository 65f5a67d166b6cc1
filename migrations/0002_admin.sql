CREATE TABLE `admin_sessions` (
	`hash` text PRIMARY KEY NOT NULL,
	`merchant_id` text NOT NULL,
	`api_key_id` text,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`ended_at` integer,
	FOREIGN KEY (`merchant_id`) REFERENCES `merchants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `admin_sessions_merchant_idx` ON `admin_sessions` (`merchant_id`);--> statement-breakpoint
CREATE TABLE `code_changes` (
	`id` text PRIMARY KEY NOT NULL,
	`code_id` text NOT NULL,
	`merchant_id` text NOT NULL,
	`actor` text NOT NULL,
	`field` text NOT NULL,
	`old_value` text,
	`new_value` text,
	`version` integer NOT NULL,
	`changed_at` integer NOT NULL,
	FOREIGN KEY (`code_id`) REFERENCES `codes`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `code_changes_code_idx` ON `code_changes` (`code_id`,`changed_at`);--> statement-breakpoint
CREATE TABLE `sign_in_tokens` (
	`hash` text PRIMARY KEY NOT NULL,
	`merchant_id` text NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer,
	FOREIGN KEY (`merchant_id`) REFERENCES `merchants`(`id`) ON UPDATE no action ON DELETE no action
);
