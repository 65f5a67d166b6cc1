-- Who is paid, kept on each payment as the customer saw it when pressing pay (the merchant's name
-- and verified display domain then), so a rename no longer rewrites old receipts (docs/trust.md).
-- Nullable, so the Worker still running while this is applied keeps inserting payments; a row
-- without a name is shown with the merchant as it is now (payments/queries.ts, findPayment).
-- Rows from before know no better than that: they get the merchant's current name and domain
-- here, counted in maintenance_log first. Its backfill run again changes nothing and records 0.
ALTER TABLE `payments` ADD `merchant_name` text;--> statement-breakpoint
ALTER TABLE `payments` ADD `merchant_domain` text;--> statement-breakpoint
INSERT INTO `maintenance_log` (`task`, `target`, `rows`)
  SELECT '0011_receipt_payee_snapshot', 'payments.merchant_name', count(*) FROM `payments`
  WHERE `merchant_name` IS NULL;--> statement-breakpoint
UPDATE `payments` SET
  `merchant_name` = (SELECT `name` FROM `merchants` WHERE `merchants`.`id` = `payments`.`merchant_id`),
  `merchant_domain` = (
    SELECT CASE WHEN `domain_verified_at` IS NOT NULL THEN `display_domain` END
    FROM `merchants` WHERE `merchants`.`id` = `payments`.`merchant_id`
  )
  WHERE `merchant_name` IS NULL;
