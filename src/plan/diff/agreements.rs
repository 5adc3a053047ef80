//! Steps 3, 5 and 6 of a plan: agreements (creation, rename, licence counts, role
//! transfers) and their owned lists (seats, cloud services, support).

use std::collections::{BTreeMap, BTreeSet};

use super::values::{change, kept_or_changed};
use super::{Builder, Refusal};
use crate::desired::Declared;
use crate::plan::operation::{FieldChange, Op, Provenance};
use crate::plan::order::Slot;
use crate::state::{AgreementState, Email};

impl Builder<'_> {
    // ----- steps 3, 5 and 6: agreements -----

    pub(super) fn agreements(&mut self) -> Result<(), Refusal> {
        let empty = AgreementState::default();
        for (number, want) in &self.desired.state.agreements {
            let have = self.current.agreements.get(number);
            match have {
                None if !self.options.records_agreements => {
                    return Err(self.missing_agreement(number));
                }
                None => self.create_agreement(number, want),
                Some(have) => {
                    self.resize_agreement(number, have, want);
                    self.transfer_roles(number, have, want);
                }
            }
            self.assignments(number, have.unwrap_or(&empty), want);
        }
        Ok(())
    }

    fn missing_agreement(&self, number: &str) -> Refusal {
        Refusal::Unsupported {
            message: format!(
                "agreement {number} is declared but the backend does not hold it, and this backend cannot create agreements (the vendor creates them on purchase); check the contract number"
            ),
            location: self.location(&[(Declared::Agreement, number)]).cloned(),
        }
    }

    fn create_agreement(&mut self, number: &str, want: &AgreementState) {
        let seats = want
            .products
            .iter()
            .filter_map(|(product, p)| p.seats.map(|n| (product.clone(), n)))
            .collect();
        let op = Op::AgreementCreate {
            number: number.to_owned(),
            name: want.name.clone(),
            contract_manager: want.contract_manager.clone(),
            software_coordinator: want.software_coordinator.clone(),
            seats,
        };
        let here = self.cite(&[(Declared::Agreement, number)]);
        self.push_op(op, here);
    }

    /// A rename and licence increases in step 3; licence decreases in step 5 (after the
    /// un-assignments that make room). At most one `agreement.update` per step.
    fn resize_agreement(&mut self, number: &str, have: &AgreementState, want: &AgreementState) {
        let mut up = (BTreeMap::new(), Vec::new());
        let mut down = (BTreeMap::new(), Vec::new());
        for (product, p) in &want.products {
            let Some(seats) = p.seats else { continue };
            let old = have
                .products
                .get(product)
                .and_then(|h| h.seats)
                .unwrap_or(0);
            let side = if seats > old { &mut up } else { &mut down };
            if seats != old {
                side.0.insert(product.clone(), seats);
                side.1.push(change(
                    &format!("seats.{product}"),
                    old.to_string(),
                    seats.to_string(),
                ));
            }
        }
        let mut rename = Vec::new();
        let name = kept_or_changed("name", Some(&have.name), Some(&want.name), &mut rename);
        let renamed = !rename.is_empty();
        if !self.options.records_agreements {
            self.note_unmanaged_counts(number, rename.iter().chain(&up.1).chain(&down.1));
            return;
        }
        let first_product = |seats: &BTreeMap<String, u32>| seats.keys().next().cloned();
        if renamed || !up.0.is_empty() {
            let here = if renamed {
                self.cite(&[(Declared::Agreement, number)])
            } else {
                self.product_cite(number, first_product(&up.0).as_deref())
            };
            let op = Op::AgreementUpdate {
                number: number.to_owned(),
                name: if renamed { name } else { None },
                seats: up.0,
            };
            rename.extend(up.1);
            self.push(Slot::of(&op), op, here, rename);
        }
        if !down.0.is_empty() {
            let here = self.product_cite(number, first_product(&down.0).as_deref());
            let op = Op::AgreementUpdate {
                number: number.to_owned(),
                name: None,
                seats: down.0,
            };
            self.push(Slot::LICENCE_DECREASE, op, here, down.1);
        }
    }

    fn note_unmanaged_counts<'c>(
        &mut self,
        number: &str,
        changes: impl Iterator<Item = &'c FieldChange>,
    ) {
        for c in changes {
            self.notes.push(format!(
                "agreement {number}: {} is {} on the backend and {} in the configuration; this backend does not change agreements, so it stays {}",
                c.field, c.from, c.to, c.from
            ));
        }
    }

    fn product_cite(&self, number: &str, product: Option<&str>) -> Provenance {
        let key = product.map(|p| format!("{number}/{p}")).unwrap_or_default();
        self.cite(&[(Declared::Product, &key), (Declared::Agreement, number)])
    }

    /// R11's "transfer first": new role holders are set in step 3, before anyone leaves.
    fn transfer_roles(&mut self, number: &str, have: &AgreementState, want: &AgreementState) {
        if have.contract_manager != want.contract_manager {
            let here = self.cite(&[
                (Declared::ContractManager, number),
                (Declared::Agreement, number),
            ]);
            let changes = vec![change(
                "contract_manager",
                have.contract_manager.to_string(),
                want.contract_manager.to_string(),
            )];
            let op = Op::SetContractManager {
                number: number.to_owned(),
                to: want.contract_manager.clone(),
            };
            self.push(Slot::of(&op), op, here, changes);
        }
        if have.software_coordinator != want.software_coordinator {
            let here = self.cite(&[
                (Declared::SoftwareCoordinator, number),
                (Declared::ContractManager, number),
                (Declared::Agreement, number),
            ]);
            let changes = vec![change(
                "software_coordinator",
                have.software_coordinator.to_string(),
                want.software_coordinator.to_string(),
            )];
            let op = Op::SetSoftwareCoordinator {
                number: number.to_owned(),
                to: want.software_coordinator.clone(),
            };
            self.push(Slot::of(&op), op, here, changes);
        }
    }

    /// The seat, cloud-service and support lists of a declared agreement, owned whole.
    fn assignments(&mut self, number: &str, have: &AgreementState, want: &AgreementState) {
        let none = BTreeSet::new();
        let products: BTreeSet<&String> =
            have.products.keys().chain(want.products.keys()).collect();
        for product in products {
            let had = have.products.get(product).map_or(&none, |p| &p.assigned);
            let wants = want.products.get(product).map_or(&none, |p| &p.assigned);
            self.owned_list(number, &List::Seats(product), had, wants);
        }
        let services: BTreeSet<&String> = have
            .cloud_services
            .keys()
            .chain(want.cloud_services.keys())
            .collect();
        for service in services {
            let had = have.cloud_services.get(service).unwrap_or(&none);
            let wants = want.cloud_services.get(service).unwrap_or(&none);
            self.owned_list(number, &List::CloudService(service), had, wants);
        }
        self.owned_list(number, &List::Support, &have.support, &want.support);
    }

    fn owned_list(
        &mut self,
        number: &str,
        list: &List<'_>,
        had: &BTreeSet<Email>,
        wants: &BTreeSet<Email>,
    ) {
        for email in had.difference(wants) {
            // A member who leaves frees everything at once (a consequence of leaving).
            if self.is_leaving(email) {
                continue;
            }
            let here = self.cite(&list.unassign_declarations(number).each());
            self.push_op(list.unassign(number, email), here);
        }
        for email in wants.difference(had) {
            let here = self.cite(&list.assign_declarations(number, email).each());
            self.push_op(list.assign(number, email), here);
        }
    }
}

/// An owned assignment list of an agreement.
enum List<'n> {
    Seats(&'n str),
    CloudService(&'n str),
    Support,
}

/// Up to three candidate declarations, most specific first.
struct Candidates([(Declared, String); 3]);

impl Candidates {
    fn each(&self) -> [(Declared, &str); 3] {
        let [a, b, c] = &self.0;
        [
            (a.0, a.1.as_str()),
            (b.0, b.1.as_str()),
            (c.0, c.1.as_str()),
        ]
    }
}

impl List<'_> {
    fn assign(&self, number: &str, email: &Email) -> Op {
        let (number, email) = (number.to_owned(), email.clone());
        match *self {
            Self::Seats(product) => Op::SeatAssign {
                number,
                product: product.to_owned(),
                email,
            },
            Self::CloudService(service) => Op::CloudServiceAssign {
                number,
                service: service.to_owned(),
                email,
            },
            Self::Support => Op::SupportAssign { number, email },
        }
    }

    fn unassign(&self, number: &str, email: &Email) -> Op {
        let (number, email) = (number.to_owned(), email.clone());
        match *self {
            Self::Seats(product) => Op::SeatUnassign {
                number,
                product: product.to_owned(),
                email,
            },
            Self::CloudService(service) => Op::CloudServiceUnassign {
                number,
                service: service.to_owned(),
                email,
            },
            Self::Support => Op::SupportUnassign { number, email },
        }
    }

    /// The entry that assigns `email`, else the list, else the agreement.
    fn assign_declarations(&self, number: &str, email: &Email) -> Candidates {
        let agreement = (Declared::Agreement, number.to_owned());
        Candidates(match *self {
            Self::Seats(product) => [
                (Declared::Seat, format!("{number}/{product}/{email}")),
                (Declared::Product, format!("{number}/{product}")),
                agreement,
            ],
            Self::CloudService(service) => [
                (
                    Declared::CloudService,
                    format!("{number}/{service}/{email}"),
                ),
                agreement.clone(),
                agreement,
            ],
            Self::Support => [
                (Declared::Support, format!("{number}/{email}")),
                agreement.clone(),
                agreement,
            ],
        })
    }

    /// The list that no longer names the member, else the agreement.
    fn unassign_declarations(&self, number: &str) -> Candidates {
        let agreement = (Declared::Agreement, number.to_owned());
        Candidates(match *self {
            Self::Seats(product) => [
                (Declared::Product, format!("{number}/{product}")),
                agreement.clone(),
                agreement,
            ],
            Self::CloudService(_) | Self::Support => {
                [agreement.clone(), agreement.clone(), agreement]
            }
        })
    }
}
