-- allow_http is a redirect-only field (src/codes/rules.ts); the API once let a PATCH set it on a
-- checkout code, after which every content edit of that code was refused.
UPDATE `codes` SET `allow_http` = 0 WHERE `action` = 'checkout' AND `allow_http` <> 0;
