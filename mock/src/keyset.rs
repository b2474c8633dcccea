//! The key set: the keys the JWKS publishes, the one that signs, and the one announced to sign
//! next (Okta publishes a key weeks before it signs with it).

use std::panic;
use std::thread;

use crate::error::MockError;
use crate::keys::MockKey;

/// The published keys, the one that signs, and the next one.
#[derive(Debug)]
pub(crate) struct Keys {
    pub(crate) published: Vec<MockKey>,
    pub(crate) signing: MockKey,
    /// Published ahead of signing; `None` when the mock was built without a next key.
    pub(crate) next: Option<MockKey>,
}

impl Keys {
    /// A signing key and, `with_next`, a next key; both published, the signing key first.
    pub(crate) fn generate(with_next: bool) -> Result<Keys, MockError> {
        let (signing, next) = if with_next {
            let (signing, next) = generate_two()?;
            (signing, Some(next))
        } else {
            (MockKey::generate()?, None)
        };
        let mut published = vec![signing.clone()];
        published.extend(next.iter().cloned());
        Ok(Keys {
            published,
            signing,
            next,
        })
    }

    /// Publishes `key` unless a key with its `kid` already is.
    fn publish(&mut self, key: &MockKey) {
        if !self.published.iter().any(|k| k.kid() == key.kid()) {
            self.published.push(key.clone());
        }
    }

    /// A rotation: the next key signs from now on (published again if it was removed) and
    /// `fresh` becomes the next key, published at once; without a next key, `fresh` signs at
    /// once. The key that signed so far stays published, unless `emergency` removes it now.
    /// Returns the key that signs now.
    pub(crate) fn rotate(&mut self, fresh: MockKey, emergency: bool) -> MockKey {
        let (active, next) = match self.next.take() {
            Some(next) => (next, Some(fresh)),
            None => (fresh, None),
        };
        if emergency {
            let retired = self.signing.kid().to_owned();
            self.published.retain(|k| k.kid() != retired);
        }
        self.publish(&active);
        if let Some(next) = &next {
            self.publish(next);
        }
        self.signing = active.clone();
        self.next = next;
        active
    }
}

/// Two keys, generated side by side (RSA key generation takes tens of milliseconds).
fn generate_two() -> Result<(MockKey, MockKey), MockError> {
    thread::scope(|scope| {
        let other = scope.spawn(MockKey::generate);
        let first = MockKey::generate();
        let second = other
            .join()
            .unwrap_or_else(|panicked| panic::resume_unwind(panicked));
        Ok((first?, second?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kids(keys: &Keys) -> Vec<&str> {
        keys.published.iter().map(MockKey::kid).collect()
    }

    #[test]
    fn rotation_promotes_the_next_key() {
        let mut keys = Keys::generate(true).unwrap();
        let (first, second) = (keys.signing.clone(), keys.next.clone().unwrap());
        assert_eq!(kids(&keys), [first.kid(), second.kid()]);
        let third = MockKey::generate().unwrap();
        assert_eq!(keys.rotate(third.clone(), false).kid(), second.kid());
        assert_eq!(kids(&keys), [first.kid(), second.kid(), third.kid()]);
        let fourth = MockKey::generate().unwrap();
        assert_eq!(keys.rotate(fourth.clone(), true).kid(), third.kid());
        assert_eq!(kids(&keys), [first.kid(), third.kid(), fourth.kid()]);
        assert_eq!(keys.next.as_ref().map(MockKey::kid), Some(fourth.kid()));
    }

    #[test]
    fn without_a_next_key_the_fresh_key_signs_at_once() {
        let mut keys = Keys::generate(false).unwrap();
        let first = keys.signing.clone();
        assert_eq!(kids(&keys), [first.kid()]);
        let fresh = MockKey::generate().unwrap();
        assert_eq!(keys.rotate(fresh.clone(), false).kid(), fresh.kid());
        assert_eq!(kids(&keys), [first.kid(), fresh.kid()]);
        assert!(keys.next.is_none());
    }
}
