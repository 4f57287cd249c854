//! Engine behaviour: statuses in catalog order, and one SQL run over every member.

mod status;
