CREATE TABLE `idempotency_keys` (
	`merchant_id` text NOT NULL,
	`key_hash` text NOT NULL,
	`fingerprint` text NOT NULL,
	`state` text NOT NULL,
	`claim` text NOT NULL,
	`status` integer,
	`content_type` text,
	`body` text,
	`created_at` integer NOT NULL,
	`locked_until` integer NOT NULL,
	PRIMARY KEY(`merchant_id`, `key_hash`)
);
--> statement-breakpoint
CREATE INDEX `idempotency_keys_created_at_idx` ON `idempotency_keys` (`created_at`);
