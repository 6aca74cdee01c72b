DROP FUNCTION enroll_participants(jsonb);
