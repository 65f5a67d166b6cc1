ALTER TABLE `payments` ADD `slot_reopened_at` integer;--> statement-breakpoint
ALTER TABLE `refunds` ADD `reopen_slot` integer DEFAULT false NOT NULL;